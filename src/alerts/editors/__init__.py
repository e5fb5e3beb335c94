"""Editor accounts, API tokens and the audit log of what editors do."""
