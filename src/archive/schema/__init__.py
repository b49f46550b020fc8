"""Metadata schemas (元数据方案) compiled once from schemas/*.yaml: colander schemas for the
forms and the API, validators, GB 11643 ID numbers."""
