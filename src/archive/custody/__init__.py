"""Custody (保管与利用): the archive officer's work beyond filing.

``arrangement`` (整理, DA/T 22: 件号, 保管期限, 载体, 归档章), ``volume`` (the bound 案卷:
cover, 卷内目录, page-numbered documents, 备考表), ``labels`` (box cover and spine with a
QR code of the 档号), ``shelving`` (库房 → 架 → 层 → 盒, moves, stock-takes) and
``commands`` (``archive bind``), ``loans`` (利用/借阅: requests, grants,
watermarked copies, paper loans). Nothing here imports the web layer.
"""
