"""Who may see and do what (访问控制): the security policy and role matrix, users and
tokens, masking of personal data, and the hash-chained audit log of every action."""
