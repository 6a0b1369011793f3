"""Pure logic: no I/O and no imports from the rest of `app/`, so it is tested fast and in isolation."""
