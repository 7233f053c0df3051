CREATE TABLE `data_keys` (
	`account_id` text PRIMARY KEY NOT NULL,
	`id` text NOT NULL,
	`wrapped` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `data_keys_id_unique` ON `data_keys` (`id`);