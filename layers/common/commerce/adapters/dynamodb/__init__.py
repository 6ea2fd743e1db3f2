"""DynamoDB adapters over the one commerce table (see keys.py for the item layout)."""
