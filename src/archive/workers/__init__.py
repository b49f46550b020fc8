"""After-commit work (后台任务): the worker thread base, conflict-free queues (inbox), the
text layer and OCR of filed PDFs."""
