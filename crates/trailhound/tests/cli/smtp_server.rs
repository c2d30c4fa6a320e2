//! A real SMTP server for the email sink's tests: aiosmtpd (PyPI, installed by
//! scripts/setup-test-env) on a free loopback port, saving what it receives; stopped when
//! dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::s3_server::Error;
use crate::support::path_str;

pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub inbox: PathBuf,
}

/// A certificate authority and a server certificate for 127.0.0.1 it signed, made by
/// openssl, and the user and password the server requires.
pub struct SmtpTls {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl SmtpTls {
    pub fn make(dir: &Path) -> Result<SmtpTls, Error> {
        let openssl = |args: &[&str]| -> Result<(), Error> {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()?;
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Ok(())
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=Trailhound Test CA",
        ])?;
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ])?;
        std::fs::write(
            dir.join("san.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )?;
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ])?;
        Ok(SmtpTls {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        })
    }
}

impl SmtpServer {
    /// Plain SMTP, or with `tls` STARTTLS and AUTH as `user`/`password` required.
    pub fn start(inbox: &Path, tls: Option<(&SmtpTls, &str, &str)>) -> Result<SmtpServer, Error> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smtp.py");
        let mut command = Command::new("python3");
        command.arg(script).arg(port.to_string()).arg(inbox);
        if let Some((tls, user, password)) = tls {
            command.args([
                path_str(&tls.cert),
                path_str(&tls.key),
                user.to_owned(),
                password.to_owned(),
            ]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|err| {
                format!("cannot start smtp.py (run scripts/setup-test-env, or pip install aiosmtpd): {err}")
            })?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        if line.trim() != "ready" {
            let _ = child.kill();
            return Err("the SMTP server did not start (is aiosmtpd installed?)".into());
        }
        Ok(SmtpServer {
            child,
            port,
            inbox: inbox.to_path_buf(),
        })
    }

    /// Messages received, in order, with their recipients.
    pub fn messages(&self) -> Result<Vec<(String, String)>, Error> {
        let mut found = Vec::new();
        for n in 1.. {
            let eml = self.inbox.join(format!("{n}.eml"));
            if !eml.exists() {
                break;
            }
            found.push((
                std::fs::read_to_string(eml)?,
                std::fs::read_to_string(self.inbox.join(format!("{n}.rcpt")))?,
            ));
        }
        Ok(found)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
