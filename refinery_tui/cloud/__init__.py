"""AWS through boto3: packaging, IAM, the deployer, the sandbox; nothing here imports Textual."""
