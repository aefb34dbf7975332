# The portal renders pages from other apps' services and owns no tables.
