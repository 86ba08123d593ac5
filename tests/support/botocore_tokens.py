"""Reference tokens: botocore's generate_db_auth_token for each case read as JSON on stdin,
one token a line. Run under faketime so that iamdb and botocore sign at the same instant."""
import json
import sys

import botocore.session

for case in json.load(sys.stdin):
    session = botocore.session.Session()
    session.set_credentials(case["access_key"], case["secret_key"], case.get("session_token"))
    client = session.create_client("rds", region_name=case["region"])
    print(client.generate_db_auth_token(case["host"], case["port"], case["user"], Region=case["region"]))
