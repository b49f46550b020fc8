"""Custody (保管与利用): the archive officer's own work beyond filing."""
