"""Adapters: the only code that talks to AWS services (boto3) or the payment provider."""
