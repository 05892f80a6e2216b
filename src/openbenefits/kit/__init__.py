"""Domain-free infrastructure shared by every domain package."""
