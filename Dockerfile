# A runbus worker image, for docker-compose.yml and users with Docker.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# In a container the operations endpoints are reached from outside it (Prometheus, probes).
ENV RUNBUS_METRICS_HOST=0.0.0.0
EXPOSE 9464
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["worker"]
