package main

import (
	"postfach/internal/config"
	"postfach/internal/logging"
	"postfach/internal/server"
)

func serveCommand() *command {
	return &command{
		name:    "serve",
		summary: "run the mail server until SIGTERM or SIGINT",
		help: `Serves every listener of the configuration. On first start it creates
the data directory, a self-signed certificate (unless [tls] names one) and
a postmaster account, and prints the settings mail clients need.
SIGTERM or SIGINT shuts down gracefully (a second one ends at once); the
exit status is then 0.`,
		minArgs: 0, maxArgs: 0,
		run: func(a *app, configPath string, args []string) error {
			cfg, err := config.Load(configPath)
			if err != nil {
				return err
			}
			logger, err := logging.New(a.stderr, cfg.Log, logging.Options{})
			if err != nil {
				return err
			}
			logger.Info("starting postfach", "version", versionString(), "config", configPath, "data_dir", cfg.DataDir)
			if err := server.Run(a.ctx, cfg, logger); err != nil {
				return err
			}
			logger.Info("postfach stopped")
			return nil
		},
	}
}
