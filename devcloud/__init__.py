"""This repository's glue for the local cloud: what `make run` adds to the generic `localcloud` runner.

The local cloud runs any SAM template and knows nothing of this app. What it cannot know lives here:

- `demo_data`: the demo catalog with stock and the demo users (through the app's own adapters), and the
  `DemoUsers` output;
- `sample_checkout`: the checkouts and orders the samples in events/ name (queued, paying, paid), taken
  where their samples start through the stack's own workflow functions and the payments sandbox;
- `payments`: the payments sandbox's URL handed to the template's `PaymentsApiUrl` parameter, and the
  webhook registration an operator would do after deploying (the sandbox's key and a webhook endpoint
  with its signing secret in the stack's secrets);
- `extension`: them all as a `localcloud.context.Extension`, which `python -m devcloud` hands to the
  local cloud's CLI.

The app's names come from the stack where they can (its outputs `CommerceTableName`, `UserPoolId`, its
parameters); the few this glue defines itself are the constants of `payments`.
"""
