FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json .swcrc ./
RUN npm ci --no-audit --no-fund
COPY apps apps
COPY libs libs
COPY migrations migrations
COPY bench bench
RUN npm run build
ENV NODE_ENV=production
EXPOSE 3000
CMD ["node", "dist/apps/api/src/main.js"]
