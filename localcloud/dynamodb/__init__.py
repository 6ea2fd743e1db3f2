"""The local cloud's additions to moto's DynamoDB: behaviour DynamoDB has and moto does not (its limits)."""
