"""The conversation skill: open conversation answered by a model on Amazon Bedrock."""
