import { APP_CONFIG, AppConfig, LOGGER } from '@app/common';
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { CloudflareProvider } from './providers/cloudflare.provider.js';
import { startFakeProvider } from './providers/fake-provider.server.js';
import { OpenAiProvider } from './providers/openai.provider.js';
import type { ImageProvider } from './providers/provider.js';

/**
 * The real adapters, pointed at the real providers (PROVIDER_MODE=live) or
 * at the bundled fake started in-process (PROVIDER_MODE=fake). Either way the
 * worker talks HTTP through the same adapter code.
 */
@Injectable()
export class ProviderRegistry implements OnModuleDestroy {
  private providers?: Promise<Record<ImageProvider['name'], ImageProvider>>;
  private closeFake?: () => Promise<void>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async get(name: ImageProvider['name']): Promise<ImageProvider> {
    this.providers ??= this.build();
    return (await this.providers)[name];
  }

  private async build(): Promise<Record<ImageProvider['name'], ImageProvider>> {
    const c = this.config;
    let openaiBase = c.OPENAI_BASE_URL;
    let cloudflareBase = c.CLOUDFLARE_BASE_URL;
    if (c.PROVIDER_MODE === 'fake') {
      const fake = await startFakeProvider({ host: '127.0.0.1', port: 0, latencyMs: c.FAKE_PROVIDER_LATENCY_MS });
      this.closeFake = () => fake.close();
      openaiBase = `${fake.url}/v1`;
      cloudflareBase = `${fake.url}/client/v4`;
      this.log.info({ url: fake.url }, 'fake image provider started in-process');
    }
    return {
      openai: new OpenAiProvider({ apiKey: c.OPENAI_API_KEY ?? 'fake-key', baseURL: openaiBase }),
      cloudflare: new CloudflareProvider({
        accountId: c.CLOUDFLARE_ACCOUNT_ID ?? 'fake-account',
        apiToken: c.CLOUDFLARE_API_TOKEN ?? 'fake-token',
        baseURL: cloudflareBase,
      }),
    };
  }

  async onModuleDestroy(): Promise<void> {
    await this.closeFake?.();
  }
}
