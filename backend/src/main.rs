//! The `vigil` binary: parse the command line, check the configuration, run
//! the command.

use std::process::ExitCode;
use std::sync::Arc;

use vigil_server::auth::password::Hasher;
use vigil_server::clock::{Clock, SystemClock};
use vigil_server::config::{Cli, Command, Config};
use vigil_server::startup::Application;
use vigil_server::store::Store;
use vigil_server::{cli, telemetry};

/// mimalloc instead of glibc's malloc: the per-request allocations of many
/// concurrent requests no longer wait on each other's arena locks.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let args = match Cli::load() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("vigil: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(args.config.log_format);
    match run(args.command, args.config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vigil: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    let clock = Arc::new(SystemClock);
    match command {
        Command::Serve => {
            let listen = config.listen;
            let app = Application::build(config, clock).await?;
            tracing::info!(
                "serving on http://{}:{}; management (metrics, health) on http://{}:{}",
                listen.ip(),
                app.port(),
                app.state().config.management_listen.ip(),
                app.management_port()
            );
            app.run_until_stopped().await
        }
        Command::Migrate => {
            Store::open(&config.database_url).await?;
            tracing::info!(database = %config.database_url, "migrations applied");
            println!("Migrations applied to {}.", config.database_url);
            Ok(())
        }
        Command::RotateDeviceKey => {
            let store = Store::open(&config.database_url).await?;
            cli::rotate_device_key(&store, clock.now()).await
        }
        Command::RotateCaepKey => {
            let store = Store::open(&config.database_url).await?;
            let kid = vigil_server::webhooks::caep::rotate(&store, clock.now()).await?;
            println!("CAEP Security Event Tokens are now signed with key {kid}; the previous key stays published.");
            Ok(())
        }
        Command::SeedDemo { password } => {
            let db = Store::open(&config.database_url).await?;
            let hasher = Hasher::new(config.hash_concurrency, config.hash_queue).await?;
            let seeded = cli::seed_demo(&db, &hasher, password, clock.now()).await?;
            cli::print_seeded(&seeded);
            Ok(())
        }
        Command::CreateAccount {
            slug,
            name,
            admin_email,
            admin_name,
        } => {
            let db = Store::open(&config.database_url).await?;
            let hasher = Hasher::new(config.hash_concurrency, config.hash_queue).await?;
            let new = cli::NewAccount {
                slug: &slug,
                name: &name,
                admin_email: &admin_email,
                admin_name: admin_name.as_deref(),
            };
            cli::create_account(&db, &hasher, new, std::io::stdin().lock(), clock.now()).await
        }
        Command::SetPassword { account, email } => {
            let db = Store::open(&config.database_url).await?;
            let hasher = Hasher::new(config.hash_concurrency, config.hash_queue).await?;
            cli::set_password(
                &db,
                &hasher,
                &account,
                &email,
                std::io::stdin().lock(),
                clock.now(),
            )
            .await
        }
    }
}
