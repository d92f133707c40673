# Part of fastzips3._core (see _core.pyx); included there, not compiled alone.
