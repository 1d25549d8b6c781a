//! Baking: an Open Badges document carried inside the badge image. PNG gets an iTXt chunk
//! (keyword `openbadges` for 2.0, `openbadgecredential` for 3.0) right after its header; SVG
//! gets an `openbadges:assertion` (2.0) or `openbadges:credential` (3.0) element. Reading is
//! strict about PNG structure (signature, chunk lengths, CRCs) and never panics on bad input.

use base64::Engine;

const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";
/// Baked documents are small; anything longer is refused when read.
const MAX_BAKED: usize = 512 * 1024;

/// Which Open Badges version a baked document belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V2,
    V3,
}

impl Version {
    fn png_keyword(self) -> &'static str {
        match self {
            Version::V2 => "openbadges",
            Version::V3 => "openbadgecredential",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BakeError {
    #[error("This is not a PNG or SVG image.")]
    NotAnImage,
    #[error("The image is damaged.")]
    Damaged,
    #[error("The image carries no Open Badges data.")]
    NotBaked,
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 12);
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    out
}

/// A PNG chunk: its type and data.
type Chunk<'a> = ([u8; 4], &'a [u8]);

/// The chunks of a PNG, checked.
fn chunks(png: &[u8]) -> Result<Vec<Chunk<'_>>, BakeError> {
    let mut rest = png.strip_prefix(PNG_SIGNATURE.as_slice()).ok_or(BakeError::NotAnImage)?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (head, tail) = rest.split_at_checked(8).ok_or(BakeError::Damaged)?;
        let len = usize::try_from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]))
            .map_err(|_| BakeError::Damaged)?;
        let kind = [head[4], head[5], head[6], head[7]];
        let (data, tail) = tail.split_at_checked(len).ok_or(BakeError::Damaged)?;
        let (crc, tail) = tail.split_at_checked(4).ok_or(BakeError::Damaged)?;
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&kind);
        hasher.update(data);
        if hasher.finalize().to_be_bytes() != crc {
            return Err(BakeError::Damaged);
        }
        out.push((kind, data));
        rest = tail;
        if &kind == b"IEND" {
            break;
        }
    }
    Ok(out)
}

/// The PNG with `text` in an uncompressed iTXt chunk after IHDR (earlier baked chunks removed).
pub fn bake_png(png: &[u8], version: Version, text: &str) -> Result<Vec<u8>, BakeError> {
    let keyword = version.png_keyword();
    let mut out = PNG_SIGNATURE.to_vec();
    for (kind, data) in chunks(png)? {
        if &kind == b"iTXt" && itxt_keyword(data) == Some(keyword) {
            continue;
        }
        out.extend_from_slice(&chunk(&kind, data));
        if &kind == b"IHDR" {
            // keyword, NUL, compression flag 0, method 0, empty language tag and translation.
            let mut itxt = keyword.as_bytes().to_vec();
            itxt.extend_from_slice(&[0, 0, 0, 0, 0]);
            itxt.extend_from_slice(text.as_bytes());
            out.extend_from_slice(&chunk(b"iTXt", &itxt));
        }
    }
    Ok(out)
}

fn itxt_keyword(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(&data[..data.iter().position(|b| *b == 0)?]).ok()
}

/// The text of an uncompressed iTXt chunk.
fn itxt_text(data: &[u8]) -> Option<&str> {
    let after_keyword = data.iter().position(|b| *b == 0)? + 1;
    let (flag, rest) = (data.get(after_keyword)?, data.get(after_keyword + 2..)?);
    if *flag != 0 {
        return None;
    }
    let lang_end = rest.iter().position(|b| *b == 0)?;
    let rest = &rest[lang_end + 1..];
    let translated_end = rest.iter().position(|b| *b == 0)?;
    std::str::from_utf8(&rest[translated_end + 1..]).ok()
}

/// A baked SVG: the badge image (a PNG) inside an SVG with the document beside it.
pub fn bake_svg(png: &[u8], version: Version, text: &str, verify_url: &str) -> String {
    let image = base64::engine::general_purpose::STANDARD.encode(png);
    let element = match version {
        Version::V2 => "assertion",
        Version::V3 => "credential",
    };
    // `]]>` cannot appear inside CDATA: split it across two sections.
    let cdata = text.replace("]]>", "]]]]><![CDATA[>");
    let verify = xml_attr(verify_url);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:openbadges=\"http://openbadges.org\" \
         xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"512\" height=\"512\" viewBox=\"0 0 512 512\">\n\
         <openbadges:{element} verify=\"{verify}\"><![CDATA[{cdata}]]></openbadges:{element}>\n\
         <image width=\"512\" height=\"512\" xlink:href=\"data:image/png;base64,{image}\"/>\n</svg>\n"
    )
}

fn xml_attr(value: &str) -> String {
    value.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// What a baked image carries: the version and the text (a URL, JSON or a compact JWT).
pub fn unbake(bytes: &[u8]) -> Result<(Version, String), BakeError> {
    if bytes.starts_with(PNG_SIGNATURE) {
        for (kind, data) in chunks(bytes)? {
            if &kind != b"iTXt" {
                continue;
            }
            for version in [Version::V2, Version::V3] {
                if itxt_keyword(data) == Some(version.png_keyword()) {
                    let text = itxt_text(data).ok_or(BakeError::Damaged)?;
                    return bounded(version, text.trim());
                }
            }
        }
        return Err(BakeError::NotBaked);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| BakeError::NotAnImage)?;
    if !text.contains("<svg") {
        return Err(BakeError::NotAnImage);
    }
    for (version, element) in [(Version::V2, "openbadges:assertion"), (Version::V3, "openbadges:credential")] {
        if let Some(found) = svg_element(text, element) {
            return bounded(version, &found);
        }
    }
    Err(BakeError::NotBaked)
}

fn bounded(version: Version, text: &str) -> Result<(Version, String), BakeError> {
    if text.is_empty() || text.len() > MAX_BAKED {
        return Err(BakeError::NotBaked);
    }
    Ok((version, text.to_owned()))
}

/// The content of `<element …>…</element>` (CDATA unwrapped), or its `verify` attribute when
/// the element is empty (a hosted badge baked by URL).
fn svg_element(svg: &str, element: &str) -> Option<String> {
    let start = svg.find(&format!("<{element}"))?;
    let open_end = start + svg[start..].find('>')?;
    let open = &svg[start..open_end];
    if open.ends_with('/') {
        return attribute(open, "verify");
    }
    let close = open_end + svg[open_end..].find(&format!("</{element}>"))?;
    let inner = svg[open_end + 1..close].trim();
    let mut text = String::new();
    let mut rest = inner;
    while let Some(begin) = rest.find("<![CDATA[") {
        text.push_str(&rest[..begin]);
        let after = &rest[begin + 9..];
        let end = after.find("]]>")?;
        text.push_str(&after[..end]);
        rest = &after[end + 3..];
    }
    text.push_str(rest);
    let text = text.trim().to_owned();
    if text.is_empty() { attribute(open, "verify") } else { Some(text) }
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = start + tag[start..].find('"')?;
    Some(tag[start..end].replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn png() -> Vec<u8> {
        let mut out = Vec::new();
        image::DynamicImage::new_rgb8(8, 8)
            .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn a_baked_png_still_decodes_and_gives_its_document_back() {
        let doc = r#"{"name":"Zoë 🦀 ]]> <b>"}"#;
        let baked = bake_png(&png(), Version::V2, doc).unwrap();
        assert!(image::load_from_memory(&baked).is_ok());
        assert_eq!(unbake(&baked).unwrap(), (Version::V2, doc.to_owned()));
        let rebaked = bake_png(&baked, Version::V2, "https://example.com/a").unwrap();
        assert_eq!(unbake(&rebaked).unwrap().1, "https://example.com/a", "an old bake is replaced, not kept");
    }

    #[test]
    fn a_baked_svg_gives_its_document_back_even_with_cdata_ends_inside() {
        let doc = r#"{"name":"Zoë 🦀 ]]> & \"quotes\""}"#;
        let svg = bake_svg(&png(), Version::V3, doc, "https://example.com/?a=1&b=\"2\"");
        assert_eq!(unbake(svg.as_bytes()).unwrap(), (Version::V3, doc.to_owned()));
        let by_url = r#"<svg xmlns:openbadges="http://openbadges.org"><openbadges:assertion verify="https://example.com/a?x=1&amp;y=2"/></svg>"#;
        assert_eq!(unbake(by_url.as_bytes()).unwrap().1, "https://example.com/a?x=1&y=2");
    }

    #[test]
    fn damaged_or_plain_images_are_refused() {
        assert_eq!(unbake(&png()).unwrap_err(), BakeError::NotBaked);
        let mut baked = bake_png(&png(), Version::V2, "{}").unwrap();
        let at = baked.windows(4).position(|w| w == b"iTXt").unwrap() + 6;
        baked[at] ^= 1;
        assert_eq!(unbake(&baked).unwrap_err(), BakeError::Damaged);
        assert_eq!(unbake(b"GIF89a").unwrap_err(), BakeError::NotAnImage);
    }

    proptest! {
        #[test]
        fn unbaking_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut with_signature = PNG_SIGNATURE.to_vec();
            with_signature.extend_from_slice(&bytes);
            let _ = unbake(&with_signature);
            let _ = unbake(&bytes);
        }

        #[test]
        fn any_text_survives_png_and_svg_baking(text in "\\PC{1,200}") {
            let text = text.trim().to_owned();
            prop_assume!(!text.is_empty());
            let baked = bake_png(&png(), Version::V3, &text).unwrap();
            prop_assert_eq!(unbake(&baked).unwrap().1, text.clone());
            let svg = bake_svg(&png(), Version::V2, &text, "https://example.com/");
            prop_assert_eq!(unbake(svg.as_bytes()).unwrap().1, text);
        }
    }
}
