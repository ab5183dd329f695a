import { APP_CONFIG, AppConfig } from '@app/common';
import { Inject, Injectable } from '@nestjs/common';
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { GeneratedImage } from './providers/provider.js';

export const FILES_ROUTE = '/files';

const EXTENSIONS = { png: 'png', jpeg: 'jpg', webp: 'webp' } as const;
const IMAGE_NAME = new RegExp(`^(gen_[0-9a-f]{32})-(\\d{1,3})\\.(?:${Object.values(EXTENSIONS).join('|')})$`);

/** The file name of a generation's i-th image, as {@link ImageStorage.save} writes it. */
const imageName = (generationId: string, i: number, format: keyof typeof EXTENSIONS) => `${generationId}-${i}.${EXTENSIONS[format]}`;

/** The generation and index a stored image's name carries; null for any other name. */
export function parseImageName(name: string): { generationId: string; index: number } | null {
  const m = IMAGE_NAME.exec(name);
  return m ? { generationId: m[1], index: Number(m[2]) } : null;
}

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
        const name = imageName(generationId, i, img.format);
        await writeFile(resolve(this.dir, name), img.data);
        return { url: `${base}${FILES_ROUTE}/${name}` };
      }),
    );
  }
}
