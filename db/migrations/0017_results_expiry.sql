ALTER TABLE `jobs` ADD `results_expired_at` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `results_purged_at` integer;--> statement-breakpoint
CREATE INDEX `jobs_results_purging` ON `jobs` (`results_expired_at`) WHERE results_expired_at IS NOT NULL AND results_purged_at IS NULL;