"""gridlib."""
