"""Each redaction on real-looking log lines, and that events carry only redacted text."""

from __future__ import annotations

import pytest

from ingest.events import extract_events
from sparktriage.redact import MASK, redact

# (line, the secret that must disappear, what must stay readable)
CASES = [
    ("24/03/12 10:11:13 INFO SparkContext: spark.hadoop.fs.s3a.access.key=AKIAIOSFODNN7EXAMPLE",
     "AKIAIOSFODNN7EXAMPLE", "fs.s3a.access.key"),
    ("24/03/12 10:11:13 INFO SparkContext: spark.hadoop.fs.s3a.secret.key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "fs.s3a.secret.key"),
    ("aws_secret_access_key = je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY", "je7MtGbClwBF", "aws_secret_access_key"),
    ("Caused by: com.amazonaws.AmazonClientException: bad key AKIAI44QH8DHBEXAMPLE in request",
     "AKIAI44QH8DHBEXAMPLE", "AmazonClientException"),
    ("java.sql.SQLException: Access denied for jdbc:mysql://db-7:3306/etl?user=etl&password=Sup3rS3cret!",
     "Sup3rS3cret!", "jdbc:mysql://db-7:3306/etl"),
    ("org.postgresql.util.PSQLException: FATAL: connect to postgresql://etl:hunter2pass@pg-3:5432/warehouse",
     "hunter2pass", "pg-3:5432/warehouse"),
    ("Failed to open jdbc:sqlserver://sql-1:1433;databaseName=dw;user=sa;password=P@ssw0rd2024;encrypt=true",
     "P@ssw0rd2024", "databaseName=dw"),
    ("java.sql.SQLException: ORA-01017 for jdbc:oracle:thin:scott/tigerpass1@db-9:1521/ORCL",
     "tigerpass1", "ORA-01017"),
    ("org.apache.http.HttpException: 401 for request with Authorization: Bearer ya29.a0AfH6SMBx3kq9Zt7Lm",
     "ya29.a0AfH6SMBx3kq9Zt7Lm", "Authorization: Bearer"),
    ("WARN RestClient: token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzcGFyayJ9.c2lnbmF0dXJlX2hlcmU rejected",
     "eyJzdWIiOiJzcGFyayJ9", "rejected"),
    ("24/03/12 10:11:13 INFO SecurityManager: spark.ssl.keyStorePassword=changeit123",
     "changeit123", "spark.ssl.keyStorePassword"),
    ('{"javax.jdo.option.ConnectionPassword": "hive-pw-42", "hive.metastore.uris": "thrift://hms:9083"}',
     "hive-pw-42", "thrift://hms:9083"),
    ("spark.hadoop.fs.azure.account.key.acct.blob.core.windows.net=c2VjcmV0a2V5Zm9yYXp1cmU=",
     "c2VjcmV0a2V5Zm9yYXp1cmU=", "fs.azure.account.key"),
    ("s3a://AKIAXXXXXXXXXXXXXXXX:s3cr3tValue@bucket/path failed", "s3cr3tValue", "bucket/path failed"),
]


@pytest.mark.parametrize(("line", "secret", "kept"), CASES)
def test_each_secret_is_redacted_and_the_context_kept(line: str, secret: str, kept: str) -> None:
    clean = redact(line)
    assert secret not in clean
    assert MASK in clean
    assert kept in clean


def test_a_private_key_block_keeps_its_line_count() -> None:
    block = ("ERROR Loader: bad key material\n-----BEGIN RSA PRIVATE KEY-----\n"
             "MIIEowIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu3aozN3tihPmljnnudb9G3HECdnH\n"
             "lWu2/a1gB9JW5TBQ+AVpum9Okx7KfqkfBKL9mcHgSL0yWMdjMfNOqNtrQqKlN4kE\n"
             "-----END RSA PRIVATE KEY-----")
    clean = redact(block)
    assert "MIIEowIBAAKCAQEA" not in clean and "lWu2" not in clean
    assert clean.count("\n") == block.count("\n")
    assert "-----BEGIN RSA PRIVATE KEY-----" in clean


def test_lines_without_secrets_are_unchanged() -> None:
    for line in ("24/03/12 10:11:13 INFO Executor: Running task 3.0 in stage 2.0 (TID 14)",
                 "org.apache.hadoop.security.AccessControlException: Permission denied: user=etl, access=READ",
                 "java.io.FileNotFoundException: No such file or directory: s3a://bucket/key/part-0000.parquet",
                 "\tat org.apache.spark.deploy.SparkSubmit.main(SparkSubmit.scala:1000)",
                 "javax.security.sasl.SaslException: GSS initiate failed [Caused by GSSException: No valid credentials",
                 "org.apache.hadoop.security.token.SecretManager$InvalidToken: token (HDFS_DELEGATION_TOKEN token 42)",
                 "24/03/12 10:30:00 INFO Client: client token: N/A, diagnostics: Queue's AM resource limit exceeded.",
                 "spark.ssl.keyPassword=null, spark.ssl.trustStorePassword=*****"):
        assert redact(line) == line


def test_exception_events_are_redacted_where_they_are_made() -> None:
    log = ("24/03/12 10:11:13 ERROR ApplicationMaster: User class threw exception: java.sql.SQLException: "
           "login failed for jdbc:postgresql://pg-1:5432/dw?user=etl&password=TopSecret99\n"
           "\tat org.postgresql.Driver.connect(Driver.java:285)\n")
    (event,) = extract_events(log, app_id="application_1_0001")
    serialized = str(event.to_dict())
    assert "TopSecret99" not in serialized
    assert "password=[REDACTED]" in event.text


def test_words_after_a_scheme_name_are_not_credentials() -> None:
    line = "WARN HttpAuth: Basic authentication failed; Token renewal requested by scheduler"
    assert redact(line) == line
