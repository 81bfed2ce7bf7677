"""People working together: roles, groups, shares, account administration and the audit log.

Who may do what is decided in :mod:`archivist.core.permissions`; these modules change who
holds what, and each change (and each sign-in) is written to the audit log.
"""
