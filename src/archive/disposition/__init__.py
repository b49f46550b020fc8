"""Disposition (鉴定与处置): the retention schedule and disposition dates, appraisal, holds
and lawful destruction (GB/T 39784 鉴定与处置; DA/T 92 and DA/T 94 for holds, the list and
the supervisor).

    schedule.py     保管期限表: when a period starts (disposition.yaml) and ends
    book.py         the index of disposition dates, and where holds, appraisals and lists live
    blocking.py     what holds a dossier now (placed holds, credit cases, inspections)
    holds.py        placing and releasing holds (冻结)
    appraisal.py    proposals and four-eyes decisions (鉴定)
    destruction.py  the destruction list, its approval and its carrying out (销毁)
    listpdf.py      销毁清册 as a Chinese PDF
    purge.py        after the commit: pack the store, compact the search index
"""
