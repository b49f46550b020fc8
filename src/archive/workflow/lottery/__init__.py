"""摇号: the seeded draw (draw.py) and its result PDF (pdf.py)."""
