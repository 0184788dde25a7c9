"""The office service: every act of the immigration office as a typed operation holding every rule.

`registry.office.service.Office` is the one place where issuance, transitions, replacements, four-eyes
approvals, appeals, re-application bars and the residence requirement are decided; the CLI
(registry/office_cli.py) and the admin API (registry/api/admin.py) are thin adapters over it. Every act
is written through `registry.office.record.record_event`.
"""
