//! Every AWS credential source iamdb supports, each used for real: the environment, shared
//! files, credential_process, assume-role and web identity against moto's STS on loopback,
//! and ECS and EC2 IMDSv2 through loopback servers that speak those protocols. Where the
//! credentials that signed are known, the whole token is compared with botocore's for the same
//! credentials at the same frozen instant.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

const AT: &str = "2026-03-04 05:06:07";
const PROFILE_AKID: &str = "AKIAPROFILEEXAMPLE01";
const PROFILE_SECRET: &str = "profileSecretKey/EXAMPLE+0123456789abcdef";

fn token_args(extra: &[&'static str]) -> Vec<&'static str> {
    let mut args = vec![
        "token",
        "--no-cache",
        "--host",
        HOST,
        "--engine",
        "postgres",
        "--user",
        "app",
    ];
    args.extend_from_slice(extra);
    args
}

#[track_caller]
fn assert_botocore_equal(
    token: &str,
    access_key: &str,
    secret_key: &str,
    session_token: Option<&str>,
) {
    let want = botocore_tokens(
        AT,
        &[BotoCase {
            host: HOST,
            port: 5432,
            user: "app",
            region: "eu-west-1",
            access_key,
            secret_key,
            session_token,
        }],
    );
    assert_eq!(token, want[0]);
}

fn akid(token: &str) -> &str {
    param(token, "X-Amz-Credential")
        .unwrap()
        .split("%2F")
        .next()
        .unwrap()
}

#[test]
fn environment_keys_sign_without_any_aws_files() {
    if !require_faketime() {
        return;
    }
    let sb = Sandbox::new("env").with_env_keys();
    let run = sb.run_at(AT, &token_args(&[])).ok();
    assert_botocore_equal(run.token(), AKID, SECRET, None);
    assert_eq!(
        run.stdout.matches('\n').count(),
        1,
        "stdout is the token and one newline"
    );
}

#[test]
fn an_explicit_aws_profile_beats_environment_keys() {
    if !require_faketime() {
        return;
    }
    let sb = Sandbox::new("profile").with_env_keys();
    sb.write_aws_credentials(&format!(
        "[prod]\naws_access_key_id = {PROFILE_AKID}\naws_secret_access_key = {PROFILE_SECRET}\n"
    ));
    let run = sb.run_at(AT, &token_args(&["--aws-profile", "prod"])).ok();
    assert_botocore_equal(run.token(), PROFILE_AKID, PROFILE_SECRET, None);

    // The same from the iamdb config file.
    sb.write_config(&format!("[profiles.db]\nhost = \"{HOST}\"\nengine = \"postgres\"\nuser = \"app\"\naws_profile = \"prod\"\n"));
    let run = sb.run_at(AT, &["token", "db", "--no-cache"]).ok();
    assert_eq!(akid(run.token()), PROFILE_AKID);
}

#[test]
fn aws_profile_from_the_environment_selects_shared_file_credentials() {
    let mut sb = Sandbox::new("awsprofile");
    sb.write_aws_credentials(&format!(
        "[default]\naws_access_key_id = AKIADEFAULTEXAMPLE01\naws_secret_access_key = x\n\n[prod]\naws_access_key_id = {PROFILE_AKID}\naws_secret_access_key = {PROFILE_SECRET}\n"
    ));
    assert_eq!(
        akid(sb.run(&token_args(&[])).ok().token()),
        "AKIADEFAULTEXAMPLE01"
    );
    sb.set("AWS_PROFILE", "prod");
    assert_eq!(akid(sb.run(&token_args(&[])).ok().token()), PROFILE_AKID);
}

#[test]
fn credential_process_supplies_session_credentials() {
    if !require_faketime() {
        return;
    }
    let sb = Sandbox::new("process");
    let script = sb.root.join("creds.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf '%s' '{\"Version\":1,\"AccessKeyId\":\"ASIAPROCESSEXAMPLE01\",\"SecretAccessKey\":\"procSecret/+key\",\"SessionToken\":\"procSession+/=token\",\"Expiration\":\"2030-01-01T00:00:00Z\"}'\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    sb.write_aws_config(&format!(
        "[profile proc]\ncredential_process = {}\n",
        script.display()
    ));
    let run = sb.run_at(AT, &token_args(&["--aws-profile", "proc"])).ok();
    assert_botocore_equal(
        run.token(),
        "ASIAPROCESSEXAMPLE01",
        "procSecret/+key",
        Some("procSession+/=token"),
    );
}

#[test]
fn assume_role_with_a_source_profile_goes_through_sts() {
    if !require_faketime() {
        return;
    }
    let moto = moto();
    let mut sb = Sandbox::new("assume");
    sb.set("AWS_ENDPOINT_URL_STS", format!("http://127.0.0.1:{moto}"));
    sb.write_aws_config(&format!(
        "[profile base]\naws_access_key_id = {PROFILE_AKID}\naws_secret_access_key = {PROFILE_SECRET}\n\n\
         [profile db-role]\nrole_arn = arn:aws:iam::123456789012:role/db-connect\nsource_profile = base\nregion = eu-west-1\n"
    ));
    let run = sb
        .run_at(AT, &token_args(&["--aws-profile", "db-role"]))
        .ok();
    let key = akid(run.token());
    assert!(
        key.starts_with("ASIA"),
        "an STS session key, not the base profile's: {key}"
    );
    let (secret, session) = moto_credentials(moto, key);
    assert_botocore_equal(run.token(), key, &secret, Some(&session));
}

#[test]
fn verbose_logs_through_the_helper_show_the_source_but_no_secret() {
    let moto = moto();
    let mut sb = Sandbox::new("helperlogs");
    sb.set("AWS_ENDPOINT_URL_STS", format!("http://127.0.0.1:{moto}"));
    sb.write_aws_config(&format!(
        "[profile base]\naws_access_key_id = {PROFILE_AKID}\naws_secret_access_key = {PROFILE_SECRET}\n\n\
         [profile db-role]\nrole_arn = arn:aws:iam::123456789012:role/db-connect\nsource_profile = base\n"
    ));
    for verbosity in ["-v", "-vv"] {
        let run = sb
            .run(&[
                verbosity,
                "token",
                "--no-cache",
                "--host",
                HOST,
                "--engine",
                "postgres",
                "--user",
                "app",
                "--aws-profile",
                "db-role",
            ])
            .ok();
        assert!(
            run.stderr.contains("loaded assume role credentials"),
            "{}",
            run.stderr
        );
        let key = akid(run.token());
        let (secret, session) = moto_credentials(moto, key);
        for s in [
            PROFILE_SECRET,
            secret.as_str(),
            session.as_str(),
            param(run.token(), "X-Amz-Signature").unwrap(),
        ] {
            assert!(
                !run.stderr.contains(s),
                "{verbosity} logged a secret:\n{}",
                run.stderr
            );
        }
    }
}

#[test]
fn assume_role_from_environment_credentials() {
    let moto = moto();
    let mut sb = Sandbox::new("credsource").with_env_keys();
    sb.set("AWS_ENDPOINT_URL_STS", format!("http://127.0.0.1:{moto}"));
    sb.write_aws_config("[profile env-role]\nrole_arn = arn:aws:iam::123456789012:role/from-env\ncredential_source = Environment\n");
    let run = sb.run(&token_args(&["--aws-profile", "env-role"])).ok();
    let key = akid(run.token());
    assert!(key.starts_with("ASIA") && key != AKID, "{key}");
    moto_credentials(moto, key);
    assert!(param(run.token(), "X-Amz-Security-Token").is_some());
}

#[test]
fn web_identity_from_the_environment() {
    let moto = moto();
    let mut sb = Sandbox::new("webid");
    let token_file = sb.root.join("web-identity-token");
    std::fs::write(
        &token_file,
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGI6YXBwIn0.c2lnbmF0dXJl",
    )
    .unwrap();
    sb.set("AWS_ENDPOINT_URL_STS", format!("http://127.0.0.1:{moto}"))
        .set("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/eks-pod-db")
        .set("AWS_ROLE_SESSION_NAME", "pod-1")
        .set(
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            token_file.display().to_string(),
        )
        .set("AWS_REGION", "eu-west-1");
    let run = sb.run(&token_args(&[])).ok();
    let key = akid(run.token());
    assert!(key.starts_with("ASIA"), "{key}");
    assert!(param(run.token(), "X-Amz-Security-Token").is_some());
}

#[test]
fn ecs_container_credentials_with_an_authorization_token() {
    if !require_faketime() {
        return;
    }
    let mut sb = Sandbox::new("ecs");
    let stub = MetadataStub::start(
        &sb,
        "ecs",
        &[
            "ASIAECSTASKEXAMPLE01",
            "ecsSecret/key+1",
            "ecsSession/token=",
            "2026-03-04T05:16:07Z",
            "Bearer task-auth",
        ],
    );
    sb.set(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        format!("http://127.0.0.1:{}/creds", stub.port),
    )
    .set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer task-auth");
    let run = sb.run_at(AT, &token_args(&["--format", "json"])).ok();
    let doc = run.json();
    assert_botocore_equal(
        doc["token"].as_str().unwrap(),
        "ASIAECSTASKEXAMPLE01",
        "ecsSecret/key+1",
        Some("ecsSession/token="),
    );
    // The task's credentials expire ten minutes after signing: so does the token.
    assert_eq!(doc["expires_at"], "2026-03-04T05:16:07Z");
    let requests = stub.requests();
    assert!(
        requests
            .iter()
            .all(|r| r["headers"]["authorization"] == "Bearer task-auth"),
        "{requests:?}"
    );
}

#[test]
fn ec2_instance_profile_through_imdsv2() {
    if !require_faketime() {
        return;
    }
    let mut sb = Sandbox::new("imds");
    let stub = MetadataStub::start(
        &sb,
        "imds",
        &[
            "ASIAINSTANCEEXAMPLE1",
            "imdsSecret/key",
            "imdsSession+token",
            "2030-01-01T00:00:00Z",
        ],
    );
    sb.unset("AWS_EC2_METADATA_DISABLED").set(
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        format!("http://127.0.0.1:{}", stub.port),
    );
    let run = sb.run_at(AT, &token_args(&[])).ok();
    assert_botocore_equal(
        run.token(),
        "ASIAINSTANCEEXAMPLE1",
        "imdsSecret/key",
        Some("imdsSession+token"),
    );
    let requests = stub.requests();
    assert_eq!(
        requests[0]["method"], "PUT",
        "IMDSv2 starts with a session token: {requests:?}"
    );
    assert!(
        requests.iter().all(|r| r["status"] == 200),
        "every request was authorised: {requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r["path"] == "/latest/meta-data/iam/security-credentials/db-connect-role")
    );
}

#[test]
fn a_metadata_service_that_never_answers_fails_fast() {
    let mut sb = Sandbox::new("imdshang");
    let stub = MetadataStub::start(&sb, "hang", &[]);
    sb.unset("AWS_EC2_METADATA_DISABLED").set(
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        format!("http://127.0.0.1:{}", stub.port),
    );
    let start = Instant::now();
    let run = sb.run(&token_args(&[])).fails(4);
    // The SDK's defaults (four attempts, one second each, with backoff) would take over 5 s.
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "took {:?}",
        start.elapsed()
    );
    assert!(
        run.stderr.contains("no AWS credentials found"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
}

#[test]
fn sso_without_a_login_says_which_command_to_run() {
    let sb = Sandbox::new("sso");
    sb.write_aws_config(
        "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = DbConnect\nregion = eu-west-1\n\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\nsso_registration_scopes = sso:account:access\n",
    );
    let run = sb.run(&token_args(&["--aws-profile", "dev"])).fails(4);
    assert!(
        run.stderr.contains("aws sso login --profile dev"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());

    // An expired cached SSO token gets the same advice.
    let cache = sb.home().join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import hashlib; print(hashlib.sha1(b'corp').hexdigest())",
        ])
        .output()
        .unwrap();
    let name = String::from_utf8(out.stdout).unwrap();
    std::fs::write(
        cache.join(format!("{}.json", name.trim())),
        r#"{"accessToken":"expired-access-token","expiresAt":"2020-01-01T00:00:00Z","region":"eu-west-1","startUrl":"https://corp.awsapps.com/start"}"#,
    )
    .unwrap();
    let run = sb.run(&token_args(&["--aws-profile", "dev"])).fails(4);
    assert!(
        run.stderr.contains("aws sso login --profile dev"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("expired-access-token"),
        "the SSO token is never shown"
    );
}

#[test]
fn expired_credentials_are_refused_instead_of_making_a_dead_token() {
    let mut sb = Sandbox::new("expired").with_env_keys();
    sb.set("AWS_SESSION_TOKEN", "some-session")
        .set("AWS_CREDENTIAL_EXPIRATION", "2020-01-01T00:00:00Z");
    let run = sb.run(&token_args(&[])).fails(4);
    assert!(
        run.stderr.contains("expired at 2020-01-01T00:00:00Z"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());

    sb.set("AWS_CREDENTIAL_EXPIRATION", "next tuesday");
    let run = sb.run(&token_args(&[])).fails(4);
    assert!(
        run.stderr.contains("AWS_CREDENTIAL_EXPIRATION"),
        "{}",
        run.stderr
    );
}

#[test]
fn half_a_key_pair_in_the_environment_names_the_missing_half() {
    let mut sb = Sandbox::new("halfkeys");
    sb.set("AWS_ACCESS_KEY_ID", AKID);
    let run = sb.run(&token_args(&[])).fails(4);
    assert!(
        run.stderr.contains(
            "AWS_ACCESS_KEY_ID is set in the environment but AWS_SECRET_ACCESS_KEY is not"
        ) && run.stderr.contains("hint: set AWS_SECRET_ACCESS_KEY too"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 2, "{}", run.stderr);
    sb.unset("AWS_ACCESS_KEY_ID")
        .set("AWS_SECRET_ACCESS_KEY", SECRET);
    let run = sb.run(&token_args(&[])).fails(4);
    assert!(
        run.stderr.contains(
            "AWS_SECRET_ACCESS_KEY is set in the environment but AWS_ACCESS_KEY_ID is not"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(SECRET), "{}", run.stderr);
}

#[test]
fn no_credentials_anywhere_is_a_clear_error() {
    let sb = Sandbox::new("nocreds");
    let run = sb.run(&token_args(&[])).fails(4);
    assert!(
        run.stderr.contains("no AWS credentials found"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 2, "{}", run.stderr);

    let run = sb.run(&token_args(&["--aws-profile", "missing"])).fails(4);
    assert!(
        run.stderr.contains("AWS profile 'missing' is not defined"),
        "{}",
        run.stderr
    );
}

#[test]
fn region_comes_from_aws_config_when_the_host_does_not_name_one() {
    let mut sb = Sandbox::new("region").with_env_keys();
    let args = [
        "token",
        "--no-cache",
        "--host",
        "db.internal.example.com",
        "--port",
        "5432",
        "--user",
        "app",
    ];
    let run = sb.run(&args).fails(3);
    assert!(
        run.stderr
            .contains("cannot tell which AWS region db.internal.example.com is in"),
        "{}",
        run.stderr
    );

    sb.write_aws_config("[default]\nregion = ap-northeast-1\n");
    let run = sb.run(&args).ok();
    assert!(
        param(run.token(), "X-Amz-Credential")
            .unwrap()
            .contains("%2Fap-northeast-1%2F")
    );

    sb.set("AWS_REGION", "sa-east-1");
    let run = sb.run(&args).ok();
    assert!(
        param(run.token(), "X-Amz-Credential")
            .unwrap()
            .contains("%2Fsa-east-1%2F")
    );

    // The host's own region wins over the environment's.
    let run = sb.run(&token_args(&[])).ok();
    assert!(
        param(run.token(), "X-Amz-Credential")
            .unwrap()
            .contains("%2Feu-west-1%2F")
    );
}

#[test]
fn eks_pod_identity_rereads_the_rotated_token_file() {
    // EKS Pod Identity speaks the container-credentials protocol, with the token in a file the
    // kubelet rotates: every call must send the file's current content.
    let mut sb = Sandbox::new("eks");
    let token_file = sb.root.join("eks-pod-identity-token");
    std::fs::write(&token_file, "pod-token-one").unwrap();
    let stub = MetadataStub::start(
        &sb,
        "eks",
        &[
            "ASIAEKSPODEXAMPLE001",
            "eksSecret/key+1",
            "eksSession/token=",
            "2030-01-01T00:00:00Z",
            &token_file.display().to_string(),
        ],
    );
    sb.set(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        format!("http://127.0.0.1:{}/creds", stub.port),
    )
    .set(
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        token_file.display().to_string(),
    );
    let run = sb.run(&token_args(&[])).ok();
    assert_eq!(akid(run.token()), "ASIAEKSPODEXAMPLE001");

    std::fs::write(&token_file, "pod-token-two").unwrap();
    let run = sb.run(&token_args(&[])).ok();
    assert_eq!(akid(run.token()), "ASIAEKSPODEXAMPLE001");
    let seen: Vec<String> = stub
        .requests()
        .iter()
        .map(|r| {
            r["headers"]["authorization"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(seen, ["pod-token-one", "pod-token-two"], "{seen:?}");
}

/// `~/.aws/login/cache/<sha256 of the session ARN>.json` as the AWS CLI (2.32+) writes it
/// after `aws login`.
fn write_login_cache(sb: &Sandbox, arn: &str, expires_at: &str) {
    let dir = sb.home().join(".aws/login/cache");
    std::fs::create_dir_all(&dir).unwrap();
    let name = {
        let out = Command::new("sha256sum")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(arn.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        String::from_utf8(out.stdout).unwrap()[..64].to_string()
    };
    // The DPoP key the CLI makes for refreshing: an EC P-256 key in SEC1 PEM.
    require("openssl");
    let key = Command::new("openssl")
        .args(["ecparam", "-name", "prime256v1", "-genkey", "-noout"])
        .output()
        .unwrap();
    let doc = serde_json::json!({
        "accessToken": {
            "accessKeyId": "ASIALOGINEXAMPLE0001",
            "secretAccessKey": "loginSecret/key+1",
            "sessionToken": "loginSession/token=",
            "accountId": "123456789012",
            "expiresAt": expires_at,
        },
        "tokenType": "aws_sigv4",
        "refreshToken": "opaque-refresh-token",
        "idToken": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln",
        "clientId": "arn:aws:signin:::devtools/same-device",
        "dpopKey": String::from_utf8(key.stdout).unwrap(),
    });
    std::fs::write(
        dir.join(format!("{name}.json")),
        serde_json::to_vec_pretty(&doc).unwrap(),
    )
    .unwrap();
}

#[test]
fn aws_login_profiles_sign_with_the_cli_cached_session() {
    if !require_faketime() {
        return;
    }
    let mut sb = Sandbox::new("awslogin");
    let arn = "arn:aws:iam::123456789012:user/alice";
    sb.write_aws_config(&format!(
        "[profile signin]\nlogin_session = {arn}\nregion = eu-west-1\n"
    ));
    write_login_cache(&sb, arn, "2026-03-04T06:00:00Z");
    let run = sb
        .run_at(
            AT,
            &token_args(&["--aws-profile", "signin", "--format", "json"]),
        )
        .ok();
    let doc = run.json();
    assert_botocore_equal(
        doc["token"].as_str().unwrap(),
        "ASIALOGINEXAMPLE0001",
        "loginSecret/key+1",
        Some("loginSession/token="),
    );

    // Expired, and the sign-in service cannot renew it: the error says how to log in again.
    write_login_cache(&sb, arn, "2026-03-04T05:00:00Z");
    sb.set(
        "AWS_ENDPOINT_URL_SIGNIN",
        format!("http://127.0.0.1:{}", free_port()),
    );
    let run = sb
        .run_at(AT, &token_args(&["--aws-profile", "signin"]))
        .fails(4);
    assert!(
        run.stderr.contains("`aws login --profile signin`"),
        "{}",
        run.stderr
    );
}
