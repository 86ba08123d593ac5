"""A reference ElastiCache or MemoryDB IAM authentication token from botocore, the way AWS's
documentation builds one: a presigned `Action=connect` GET for the cache's name (a replication
group, a serverless cache or a MemoryDB cluster, not an endpoint), `User` the user to log in
as, `ResourceType=ServerlessCache` for serverless caches, valid for 900 s.

Usage: elasticache_token.py SERVICE NAME USER SERVERLESS REGION
  SERVICE     elasticache or memorydb
  SERVERLESS  1 for a serverless cache, else 0
The keys are AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (optional) from
the environment. Prints the token (without https://).
"""
import os
import sys

import botocore.session
from botocore.awsrequest import prepare_request_dict

service, name, user, serverless, region = sys.argv[1:6]
session = botocore.session.Session()
session.set_credentials(
    os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], os.environ.get("AWS_SESSION_TOKEN"))
client = session.create_client(service, region_name=region)
params = {"Action": "connect", "User": user}
if serverless == "1":
    params["ResourceType"] = "ServerlessCache"
request = {"method": "GET", "url": "/", "body": params, "headers": {}, "query_string": "", "url_path": "/",
           "context": {}}
prepare_request_dict(request, f"https://{name}")
url = client._request_signer.generate_presigned_url(
    request, operation_name="connect", expires_in=900, region_name=region, signing_name=service)
print(url[len("https://"):])
