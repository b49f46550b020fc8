"""The record (档案): dossiers, their documents and versions, numbering (档号), fixity,
filing, PDFs and case histories — the model every other package works on."""
