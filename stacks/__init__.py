"""The Pulumi program (`__main__.py` calls `stacks.program.main`). One package per cloud
(`aws/`, `gcp/`, `azure/`), each a component; the modules here are shared by all three and
import none of them. See docs/deploying.md and docs/architecture.md."""
