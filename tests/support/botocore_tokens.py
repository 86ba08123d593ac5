"""Reference tokens from botocore, for each case read as JSON on stdin, one token a line. Run
under faketime so that iamdb and botocore sign at the same instant.

A case is {"kind": ..., "host", "region", "access_key", "secret_key", "session_token", ...}:
  rds   (the default)  generate_db_auth_token(host, port, user)
  dsql                 generate_db_connect_admin_auth_token(host, region, ExpiresIn) for user
                       "admin", else generate_db_connect_auth_token(...)
  elasticache,         botocore's request signer presigning GET https://<host>/ with
  memorydb             {"Action": "connect", "User": user} (then "ResourceType":
                       "ServerlessCache" when "serverless"), as AWS's samples do: there is
                       no helper for these in botocore
"""
import json
import sys

import botocore.session

for case in json.load(sys.stdin):
    session = botocore.session.Session()
    session.set_credentials(case["access_key"], case["secret_key"], case.get("session_token"))
    kind = case.get("kind", "rds")
    if kind == "rds":
        client = session.create_client("rds", region_name=case["region"])
        print(client.generate_db_auth_token(case["host"], case["port"], case["user"], Region=case["region"]))
    elif kind == "dsql":
        client = session.create_client("dsql", region_name=case["region"])
        make = (client.generate_db_connect_admin_auth_token if case["user"] == "admin"
                else client.generate_db_connect_auth_token)
        print(make(case["host"], case["region"], ExpiresIn=case["expires_in"]))
    elif kind in ("elasticache", "memorydb"):
        from botocore.awsrequest import prepare_request_dict
        client = session.create_client(kind, region_name=case["region"])
        body = {"Action": "connect", "User": case["user"]}
        if case.get("serverless"):
            body["ResourceType"] = "ServerlessCache"
        request = {"method": "GET", "url": "/", "body": body, "headers": {}, "query_string": "",
                   "url_path": "/", "context": {}}
        prepare_request_dict(request, "https://" + case["host"])
        url = client._request_signer.generate_presigned_url(
            request, operation_name="connect", expires_in=900, region_name=case["region"],
            signing_name=kind)
        print(url[len("https://"):])
    else:
        sys.exit(f"unknown kind {kind}")
