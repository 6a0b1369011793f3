"""The built-in runbooks, as YAML files shipped inside the package.

They live in the package rather than beside it so that `pitcrew` finds them from any working
directory once installed; a team's runbook of the same name (in `runbooks_dir`) replaces one.
"""
