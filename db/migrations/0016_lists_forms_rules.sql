ALTER TABLE `accounts` ADD `retention_days` integer;--> statement-breakpoint
ALTER TABLE `accounts` ADD `rules` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `kind` text DEFAULT 'secret' NOT NULL;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `origins` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `files` text;