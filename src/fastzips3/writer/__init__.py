"""The write side: :class:`ZipWriter` (new archives and appends), member compression, and the S3
reads it needs. Records come from :mod:`fastzips3._format.write`, bytes go to
:mod:`fastzips3.sinks`."""
