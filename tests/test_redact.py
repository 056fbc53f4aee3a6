"""Each redaction on real-looking log lines, and that events carry only redacted text."""

from __future__ import annotations

import pytest

from logtext.events import extract_events
from sparktriage.redact import MASK, redact

# (line, the line as stored: each secret replaced, its name and everything around it kept)
CASES = [
    ("24/03/12 10:11:13 INFO SparkContext: spark.hadoop.fs.s3a.access.key=AKIAIOSFODNN7EXAMPLE",
     "24/03/12 10:11:13 INFO SparkContext: spark.hadoop.fs.s3a.access.key=[REDACTED]"),
    ("24/03/12 10:11:13 INFO SparkContext: spark.hadoop.fs.s3a.secret.key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "24/03/12 10:11:13 INFO SparkContext: spark.hadoop.fs.s3a.secret.key=[REDACTED]"),
    ("aws_secret_access_key = je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
     "aws_secret_access_key = [REDACTED]"),
    ("Caused by: com.amazonaws.AmazonClientException: bad key AKIAI44QH8DHBEXAMPLE in request",
     "Caused by: com.amazonaws.AmazonClientException: bad key [REDACTED] in request"),
    ("java.sql.SQLException: Access denied for jdbc:mysql://db-7:3306/etl?user=etl&password=Sup3rS3cret!",
     "java.sql.SQLException: Access denied for jdbc:mysql://db-7:3306/etl?user=etl&password=[REDACTED]"),
    ("org.postgresql.util.PSQLException: FATAL: connect to postgresql://etl:hunter2pass@pg-3:5432/warehouse",
     "org.postgresql.util.PSQLException: FATAL: connect to postgresql://etl:[REDACTED]@pg-3:5432/warehouse"),
    ("Failed to open jdbc:sqlserver://sql-1:1433;databaseName=dw;user=sa;password=P@ssw0rd2024;encrypt=true",
     "Failed to open jdbc:sqlserver://sql-1:1433;databaseName=dw;user=sa;password=[REDACTED];encrypt=true"),
    ("java.sql.SQLException: ORA-01017 for jdbc:oracle:thin:scott/tigerpass1@db-9:1521/ORCL",
     "java.sql.SQLException: ORA-01017 for jdbc:oracle:thin:scott/[REDACTED]@db-9:1521/ORCL"),
    ("org.apache.http.HttpException: 401 for request with Authorization: Bearer ya29.a0AfH6SMBx3kq9Zt7Lm",
     "org.apache.http.HttpException: 401 for request with Authorization: Bearer [REDACTED]"),
    ("WARN RestClient: token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzcGFyayJ9.c2lnbmF0dXJlX2hlcmU rejected",
     "WARN RestClient: token [REDACTED] rejected"),
    ("24/03/12 10:11:13 INFO SecurityManager: spark.ssl.keyStorePassword=changeit123",
     "24/03/12 10:11:13 INFO SecurityManager: spark.ssl.keyStorePassword=[REDACTED]"),
    ('{"javax.jdo.option.ConnectionPassword": "hive-pw-42", "hive.metastore.uris": "thrift://hms:9083"}',
     '{"javax.jdo.option.ConnectionPassword": "[REDACTED]", "hive.metastore.uris": "thrift://hms:9083"}'),
    ("spark.hadoop.fs.azure.account.key.acct.blob.core.windows.net=c2VjcmV0a2V5Zm9yYXp1cmU=",
     "spark.hadoop.fs.azure.account.key.acct.blob.core.windows.net=[REDACTED]"),
    ("s3a://AKIAXXXXXXXXXXXXXXXX:s3cr3tValue@bucket/path failed",
     "s3a://[REDACTED]:[REDACTED]@bucket/path failed"),
]


@pytest.mark.parametrize(("line", "clean"), CASES)
def test_each_secret_is_redacted_and_the_context_kept(line: str, clean: str) -> None:
    assert redact(line) == clean
    assert redact(clean) == clean, "redacting twice changes nothing"


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


@pytest.mark.parametrize("prefix", ["AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA"])
def test_every_kind_of_aws_key_id_is_redacted(prefix: str) -> None:
    """Access keys, temporary keys, group, user, role and managed-policy ids: each prefix its own gate."""
    line = f"S3Exception: request by {prefix}Y34FZKBOKMUTVV7A denied"
    assert redact(line) == f"S3Exception: request by {MASK} denied"


@pytest.mark.parametrize(("scheme", "word"), [("bearer", "bearer"), ("Bearer", "Bearer"), ("Basic", "Basic"),
                                              ("Token", "Token")])
def test_a_credential_after_each_scheme_word_is_redacted(scheme: str, word: str) -> None:
    line = f"WARN Http: 401 for header {scheme} dXNlcjpwYXNzd29yZDEyMzQ1Njc4"
    assert redact(line) == f"WARN Http: 401 for header {word} {MASK}"


@pytest.mark.parametrize("value", ["n/a", "N/A", "null", "none", "<none>", "-", "*****", "******", "********"])
def test_a_value_saying_no_secret_is_there_is_kept(value: str) -> None:
    assert redact(f"spark.ssl.keyPassword={value}") == f"spark.ssl.keyPassword={value}"


def test_a_private_key_cut_before_its_end_is_hidden_to_the_end() -> None:
    block = "-----BEGIN PRIVATE KEY-----\nMIIEowIBAAKCAQEA1c7\nlWu2/a1gB9JW5TBQ"
    assert redact(block) == f"-----BEGIN PRIVATE KEY-----\n{MASK}\n{MASK}"


def test_only_lines_that_look_like_settings_are_rewritten() -> None:
    """Settings are redacted line by line; a frame between two settings is left as it was."""
    text = "conf: spark.ssl.keyPassword=abc123\n\tat x.Y.token(Y.java:1)\nfs.s3a.secret.key=def456"
    assert redact(text) == f"conf: spark.ssl.keyPassword={MASK}\n\tat x.Y.token(Y.java:1)\nfs.s3a.secret.key={MASK}"
    assert redact("my password: hunter2") == f"my password: {MASK}"
    frame = "ERROR Auth: could not renew the token:\n\tat org.apache.hadoop.security.token.Token.renew(Token.java:1)"
    assert redact(frame) == frame, "a setting's name ending a line takes nothing from the next line"
    assert redact("PASSWORD=hunter2") == f"PASSWORD={MASK}"


def test_empty_text_stays_empty() -> None:
    assert redact("") == ""


def test_settings_are_found_on_their_own_lines_among_lines_holding_the_words() -> None:
    """The lines to rewrite are found by one search of the whole text: each setting is redacted on its own
    line, whatever lines before it hold the words without a value, and after a credential in a URL on an
    earlier line was hidden (the text searched is then the rewritten one)."""
    text = ("KeyError: 'col_7'\n  File \"/opt/app/keys.py\", line 3, in <module>\nTOKEN PASSED\n"
            "retry with api_key=k3y-1 then password=p4ss\n\tat a.Secret.get(Secret.java:1)\nsas_token: abc")
    assert redact(text) == ("KeyError: 'col_7'\n  File \"/opt/app/keys.py\", line 3, in <module>\nTOKEN PASSED\n"
                            f"retry with api_key={MASK} then password={MASK}\n\tat a.Secret.get(Secret.java:1)\n"
                            f"sas_token: {MASK}")
    url = "jdbc:postgresql://etl:pw0rd@db-7/etl failed\nfs.s3a.secret.key=s3cr3t"
    assert redact(url) == f"jdbc:postgresql://etl:{MASK}@db-7/etl failed\nfs.s3a.secret.key={MASK}"
