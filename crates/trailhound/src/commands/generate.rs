use crate::cli::{GenerateArgs, GlobalArgs};
use crate::exit;

pub(crate) fn run(_args: GenerateArgs, _global: &GlobalArgs) -> anyhow::Result<u8> {
    anyhow::bail!("generate is being built")
}
