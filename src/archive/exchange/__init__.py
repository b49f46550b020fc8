"""Hand-over packages (移交与接收): BagIt bags out of the archive and into it.

``bag`` writes a package for chosen dossiers (with SHA-256 and SM3 manifests, the 移交清册
and each dossier's versions, history and bound volume); ``receive`` checks a package and
brings it in whole or refuses it; ``receipts`` keeps each import's 四性检测 report;
``lists`` makes the Chinese PDFs and the CSV; ``codec`` is the dossier's JSON;
``commands`` adds ``archive export`` and ``archive import`` to the command line.
"""
