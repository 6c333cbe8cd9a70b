"""Installing and running a Sunaba site: runtime prefix, state directory, the hub process."""
