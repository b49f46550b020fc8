"""Preservation of the store itself (存储备份、恢复与压缩): backups, restores and packing.

The archive's promise that nothing acknowledged is lost holds only as long as the disk
does. ``backup`` copies the store into a backup directory (FileStorage: ``repozo``, full
then incremental, plus exactly the blob files the copied records name; RelStorage on
PostgreSQL: ``pg_dump``), ``restore`` puts one of those points back into an empty store,
and ``pack`` drops the object history FileStorage and RelStorage keep, which the archive
does not need: its own history lives in versions and the log, which are current objects.
"""
