"""Creates RDS resources in moto's server (an instance, an Aurora cluster with one instance,
and an RDS Proxy) and prints what RDS itself says about them, as JSON: the ground truth
`iamdb setup --lookup` must find. Usage: rds_fixtures.py ENDPOINT_URL REGION SUFFIX"""
import json
import sys

import boto3

url, region, suffix = sys.argv[1:4]
kw = dict(endpoint_url=url, region_name=region,
          aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x")
rds = boto3.client("rds", **kw)
ec2 = boto3.client("ec2", **kw)

db = rds.create_db_instance(
    DBInstanceIdentifier=f"orders-{suffix}", Engine="postgres", DBInstanceClass="db.t3.micro",
    MasterUsername="master", MasterUserPassword="masterpassword", AllocatedStorage=20,
    EnableIAMDatabaseAuthentication=True)["DBInstance"]
cluster = rds.create_db_cluster(
    DBClusterIdentifier=f"fleet-{suffix}", Engine="aurora-mysql", MasterUsername="master",
    MasterUserPassword="masterpassword")["DBCluster"]
member = rds.create_db_instance(
    DBInstanceIdentifier=f"fleet-{suffix}-a", Engine="aurora-mysql", DBInstanceClass="db.r6g.large",
    DBClusterIdentifier=f"fleet-{suffix}")["DBInstance"]
vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24",
                             AvailabilityZone=f"{region}{z}")["Subnet"]["SubnetId"]
           for i, z in ((1, "a"), (2, "b"))]
proxy = rds.create_db_proxy(
    DBProxyName=f"edge-{suffix}", EngineFamily="POSTGRESQL",
    Auth=[{"AuthScheme": "SECRETS", "IAMAuth": "REQUIRED",
           "SecretArn": f"arn:aws:secretsmanager:{region}:123456789012:secret:edge"}],
    RoleArn="arn:aws:iam::123456789012:role/edge", VpcSubnetIds=subnets)["DBProxy"]

print(json.dumps({
    "instance": {"host": db["Endpoint"]["Address"], "id": db["DBInstanceIdentifier"],
                 "resource_id": db["DbiResourceId"]},
    "cluster": {"host": cluster["ReaderEndpoint"], "id": cluster["DBClusterIdentifier"],
                "resource_id": cluster["DbClusterResourceId"]},
    "member": {"host": member["Endpoint"]["Address"], "id": member["DBInstanceIdentifier"]},
    "proxy": {"host": proxy["Endpoint"], "id": proxy["DBProxyName"],
              "resource_id": proxy["DBProxyArn"].rsplit(":", 1)[1]},
}))
