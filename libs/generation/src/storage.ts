import { APP_CONFIG, AppConfig } from '@app/common';
import { Inject, Injectable } from '@nestjs/common';
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { GeneratedImage } from './providers/provider.js';

export const FILES_ROUTE = '/files';

/** Stores images in a local directory served by the API under /files. */
@Injectable()
export class ImageStorage {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  get dir(): string {
    return resolve(this.config.STORAGE_DIR);
  }

  /** Writes each image as <generation>-<index>.<format>; a retried job overwrites the same names. */
  async save(generationId: string, images: GeneratedImage[]): Promise<{ url: string }[]> {
    await mkdir(this.dir, { recursive: true });
    const base = this.config.PUBLIC_BASE_URL ?? `http://localhost:${this.config.PORT}`;
    return Promise.all(
      images.map(async (img, i) => {
        const name = `${generationId}-${i}.${img.format === 'jpeg' ? 'jpg' : img.format}`;
        await writeFile(resolve(this.dir, name), img.data);
        return { url: `${base}${FILES_ROUTE}/${name}` };
      }),
    );
  }
}
