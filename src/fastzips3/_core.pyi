"""Types of fastzips3's compiled core (``_core.pyx``), for mypy."""

ISAL_VERSION: str
ZLIB_VERSION: str

# --- directory (_core_directory.pxi) ---------------------------------------------------------
# --- end directory ---

# --- inflate (_core_inflate.pxi) -------------------------------------------------------------
# --- end inflate ---

# --- zran (_core_zran.pxi) -------------------------------------------------------------------
# --- end zran ---
