"""IAM enforced locally: every AWS call a function makes is evaluated against its role's policies.

Each function signs its calls with an access key of its own (`localcloud.aws.function_access_key`); while
the stack is provisioned, `policies.PolicyBook` learns each function's role, the role's policy documents
(inline, SAM's expanded policy templates, managed policies) and the tables' key schemas; `guard.IamGuard`
turns every edge request signed with a function's key into the IAM requests AWS would evaluate
(`requests`), evaluates them (`evaluation`, on moto's `IAMPolicy`) and answers a denied call with the
service's own AccessDenied error (`denials`). Calls signed with the local cloud's own key (tests, the
developer's CLI, event sources) are not checked.
"""
