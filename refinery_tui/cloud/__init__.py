"""The deploy side, through boto3: stages, packaging, IAM, plan/apply/teardown, invoke, log tailing, executions."""
