//! A real S3-compatible server for the tests: `moto_server` (PyPI `moto[server]`, installed by
//! scripts/setup-test-env) on a free loopback port, with its request log kept so that tests can count what
//! Trailhound asked for.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::{Run, binary, path_str, run_command};

pub type Error = Box<dyn std::error::Error>;

/// The server, stopped when dropped.
pub struct S3Server {
    child: std::process::Child,
    pub endpoint: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl S3Server {
    pub fn start() -> Result<S3Server, Error> {
        S3Server::start_checking_keys(None)
    }

    /// A server that, after `free` unauthenticated requests (to set things up), checks every
    /// request's access key against the users it knows: none, so every key is refused.
    pub fn start_checking_keys(free: Option<u32>) -> Result<S3Server, Error> {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("requests.log");
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut command = Command::new("moto_server");
        if let Some(free) = free {
            command.env("INITIAL_NO_AUTH_ACTION_COUNT", free.to_string());
        }
        let child = command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            // The development server logs every request line on stderr.
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .map_err(|err| {
                format!(
                    "cannot start moto_server (run scripts/setup-test-env, or pip install 'moto[server]'): {err}"
                )
            })?;
        let server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(server);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Err("moto_server did not start listening within 20 s".into())
    }

    /// Runs tests/fixtures/s3.py (boto3) against the server: `upload BUCKET DIR`,
    /// `put BUCKET KEY FILE`, `delete BUCKET KEY`.
    pub fn python(&self, args: &[&str]) -> Result<(), Error> {
        self.python_output(args).map(|_| ())
    }

    /// Like [`S3Server::python`], returning what the script printed.
    pub fn python_output(&self, args: &[&str]) -> Result<String, Error> {
        self.script("s3.py", args)
    }

    /// Runs tests/fixtures/`name` against the server, `args[0]` being its command; returns
    /// what it printed.
    pub fn script(&self, name: &str, args: &[&str]) -> Result<String, Error> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        let out = Command::new("python3")
            .arg(script)
            .arg(args[0])
            .arg(&self.endpoint)
            .args(&args[1..])
            .output()?;
        assert!(
            out.status.success(),
            "{name} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Runs the binary with test credentials and this server as the endpoint, as a user
    /// would with `AWS_ENDPOINT_URL` exported.
    pub fn run(&self, args: &[&str]) -> Result<Run, Error> {
        Ok(run_command(&mut self.command(args))?)
    }

    /// The command [`S3Server::run`] runs, for tests that need to drive the process.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary());
        command
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            // Anything that would leave the machine (a bug sending a request to AWS itself)
            // goes to a closed local port instead.
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .env("HTTP_PROXY", "http://127.0.0.1:9")
            .env("ALL_PROXY", "http://127.0.0.1:9")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .stdin(Stdio::null());
        command
    }

    /// Request lines logged so far (`GET /bucket/key HTTP/1.1`).
    pub fn requests(&self) -> Result<Vec<String>, Error> {
        let text = std::fs::read_to_string(&self.log)?;
        Ok(text
            .lines()
            .filter_map(|line| line.split('"').nth(1))
            .map(str::to_owned)
            .collect())
    }

    /// GET requests for objects of `bucket` (not listings), counted since the server started.
    pub fn object_gets(&self, bucket: &str) -> Result<usize, Error> {
        let prefix = format!("GET /{bucket}/");
        Ok(self
            .requests()?
            .iter()
            .filter(|r| r.starts_with(&prefix) && !r.contains('?'))
            .count())
    }

    /// Uploads a local `AWSLogs/` tree into a new bucket.
    pub fn upload(&self, bucket: &str, root: &Path) -> Result<(), Error> {
        self.python(&["upload", bucket, &path_str(root)])
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
